"""Settings, database, crypto, audit, i18n and errors shared by every domain package."""
