"""The panel's settings for the test suite: production settings with a fast password hasher.

PBKDF2 at Django's production strength takes about a second per password on the CI machine, and
the suite signs in hundreds of times. The tests check the panel's behaviour, not the hasher's
strength, so they hash with MD5 (Django's documented advice for tests). PBKDF2 stays accepted
second, so a password hashed by production settings still verifies. The servers the tests start
in a subprocess use this module too (tests/server.py), so they read the same hashes.
"""

from smmpanel.settings import *  # noqa: F403

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

# The worker reads each API provider's balance every SMMPANEL_BALANCE_CHECK_MINUTES: a balance call
# that tests counting their fake upstream's calls did not ask for. Off here; the tests of the
# refresh (tests/test_console_providers.py) turn it on.
SMMPANEL_BALANCE_CHECK_MINUTES = 0
