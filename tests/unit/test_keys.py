from chalicelib.domain import keys


def test_keys_name_their_app_and_kind_and_verify_only_against_their_hash():
    key = keys.new_key(keys.ADMIN, "app0123abc")
    assert keys.parse(key) == keys.ParsedKey(kind="admin", app_id="app0123abc")
    stored = keys.hash_key(key)
    assert stored != key and len(stored) == 64
    assert keys.matches(key, stored)
    assert not keys.matches(key[:-1] + ("0" if key[-1] != "0" else "1"), stored)
    assert not keys.matches(key, "")


def test_malformed_keys_do_not_parse():
    assert keys.parse("herald_admin_app1_short") is None
    assert keys.parse(keys.new_root_key()) is None
    assert keys.parse("") is None


def test_two_keys_never_repeat():
    assert len({keys.new_key(keys.CLIENT, "app1") for _ in range(100)}) == 100
