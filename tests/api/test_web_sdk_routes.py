"""/sdk/herald.js is the web SDK joined from sdk/web/src (never a second copy), cached long with
a validator; /demo serves the demo shop page."""

from chalicelib import websdk


def test_the_sdk_is_served_as_a_javascript_module_with_a_long_cache(chalice_client):
    reply = chalice_client.http.get("/sdk/herald.js")
    assert reply.status_code == 200
    assert reply.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert "max-age=86400" in reply.headers["Cache-Control"]
    assert reply.headers["Cache-Control"].startswith("public")
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert reply.headers["ETag"].startswith('"')


def test_it_is_the_source_joined(chalice_client):
    response = chalice_client.http.get("/sdk/herald.js")
    assert response.body.decode() == websdk.join(websdk.read_source())


def test_a_matching_etag_is_304_with_no_body(chalice_client):
    etag = chalice_client.http.get("/sdk/herald.js").headers["ETag"]
    response = chalice_client.http.get("/sdk/herald.js", headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.body in (b"", None)
    assert (
        chalice_client.http.get("/sdk/herald.js", headers={"If-None-Match": '"x"'}).status_code
        == 200
    )


def test_the_demo_page_and_its_files(chalice_client):
    page = chalice_client.http.get("/demo")
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert b'src="/demo/demo.js"' in page.body
    script = chalice_client.http.get("/demo/demo.js")
    assert script.status_code == 200 and b'from "/sdk/herald.js"' in script.body
    for name in ("nope.js", "..%2Fapp.py", "__init__.py", "index.html"):
        assert chalice_client.http.get(f"/demo/{name}").status_code == 404
