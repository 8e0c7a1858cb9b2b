"""Field encryption (AES-256-GCM), blind indexes (HMAC-SHA256) and signatures (Ed25519)."""
