"""A password hasher for machine-made secrets only.

Argon2 is slow on purpose, because a person's password may be guessed. A secret of 256 random
bits cannot be guessed however fast each try is, so its hash need not be slow: the synthetic
clinic's staff (``ketacare.dev.synth``) sign hundreds of times a simulated day through the one
sign-in check (``accounts.reauth``) with such secrets. ``set_password`` never uses this hasher
(it is not first in ``PASSWORD_HASHERS``), it refuses anything shorter than a 256-bit hex
secret, and ``User.check_password`` never re-hashes what it verifies (docs/decisions/0107).
"""

import hashlib
from typing import TYPE_CHECKING, Any

from django.contrib.auth.hashers import BasePasswordHasher, mask_hash
from django.utils.crypto import constant_time_compare

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise

SECRET_HEX_DIGITS = 64  # 256 bits


class MachineSecretHasher(BasePasswordHasher):
    algorithm = "machine_secret_sha256"

    def encode(self, password: str, salt: str) -> str:
        if len(password) < SECRET_HEX_DIGITS or not all(c in "0123456789abcdef" for c in password):
            raise ValueError("Only a machine-made secret of 256 random bits (64 hex digits).")
        # Django's own argument check; django-stubs does not declare this private method.
        self._check_encode_args(password, salt)  # type: ignore[attr-defined]
        digest = hashlib.sha256(f"{salt}${password}".encode()).hexdigest()
        return f"{self.algorithm}${salt}${digest}"

    def decode(self, encoded: str) -> dict[str, Any]:
        algorithm, salt, digest = encoded.split("$", 2)
        assert algorithm == self.algorithm
        return {"algorithm": algorithm, "hash": digest, "salt": salt}

    def verify(self, password: str, encoded: str) -> bool:
        salt = self.decode(encoded)["salt"]
        try:
            return constant_time_compare(encoded, self.encode(password, salt))
        except ValueError:
            return False

    def safe_summary(self, encoded: str) -> "dict[str | StrPromise, Any]":
        decoded = self.decode(encoded)
        return {"algorithm": decoded["algorithm"], "salt": mask_hash(decoded["salt"]),
                "hash": mask_hash(decoded["hash"])}  # fmt: skip

    def must_update(self, encoded: str) -> bool:
        return False

    def harden_runtime(self, password: str, encoded: str) -> None:
        return None
