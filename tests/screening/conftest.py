"""The inquiry scene (an authority, its school, a university, reviewers, a small registry)
for every screening test module that does not build its own."""

from tests.screening.test_inquiries import scene, settings

__all__ = ["scene", "settings"]
