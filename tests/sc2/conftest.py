import pytest

from omdpg.envs.starcraft import FIX, missing_reason


@pytest.fixture(autouse=True)
def smacv2_installed(request):
    """SMACv2 tests skip where smacv2 is missing and smac, which the module needs, is not."""
    params = getattr(request.node, "callspec", None)
    reason = missing_reason("smacv2") if params and params.params.get("env") == "smacv2" else None
    if reason:
        pytest.skip(f"{reason}; fix: {FIX}")
