"""Relay mode pays nothing for mx mode at cold start: dnspython is imported only when mx mode starts."""

from tests.unit.test_architecture import modules_loaded_by


def test_the_dispatch_function_module_loads_no_dns_library():
    loaded = modules_loaded_by("maildispatch.runtime.dispatch_function")
    assert [m for m in loaded if m == "dns" or m.startswith("dns.")] == []


def test_the_bounce_function_module_loads_no_dns_library():
    loaded = modules_loaded_by("maildispatch.runtime.bounce_function")
    assert [m for m in loaded if m == "dns" or m.startswith("dns.")] == []
