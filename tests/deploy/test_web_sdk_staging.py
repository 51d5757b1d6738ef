"""`make deploy`: `chalice deploy` runs with the joined web SDK inside chalicelib/, and the
checkout is left without that copy (sdk/web/src stays the one source)."""

from chalicelib import websdk
from deploy import infra
from tests.deploy.test_deploy import chalice_would_deploy, config_copy, deployer, session  # noqa: F401

STAGED = infra.PROJECT_DIR / "chalicelib" / "websdk" / websdk.STAGED


def test_chalice_deploy_sees_the_joined_sdk_and_it_is_removed_after(session, config_copy):  # noqa: F811
    seen = []
    deploy_resources = chalice_would_deploy(session, __import__("app").app)

    def during_chalice_deploy():
        seen.append(STAGED.read_text(encoding="utf-8"))
        deploy_resources()

    deploy, _runner = deployer(session, config_copy, also=during_chalice_deploy)
    deploy.deploy()
    assert seen == [websdk.join(websdk.read_source())]
    assert not STAGED.exists()
