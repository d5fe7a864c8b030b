"""Signing keys for tokens, kept in Postgres so every process signs and verifies alike."""

from django.db import models


class SigningKey(models.Model):
    """An RSA key pair that signs tokens from `signs_from` until a newer key's `signs_from`.

    The private half is stored encrypted with a key derived from SECRET_KEY (keys.py), is
    never shown in the admin and never leaves this process; the public half is published
    in the JWKS until the last access token it signed has expired.
    """

    kid = models.CharField(max_length=64, unique=True)
    algorithm = models.CharField(max_length=16)
    public_pem = models.TextField()
    private_encrypted = models.BinaryField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    signs_from = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ("signs_from", "id")
        verbose_name = "token signing key"

    def __str__(self) -> str:
        return self.kid
