import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One torch thread, as a workflow job has: these tests run many tiny updates, which two OpenMP
    threads make several times slower on a 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
