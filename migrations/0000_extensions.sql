-- Trigram operator classes for substring search on device serials (devices_serial_trgm_idx).
-- pg_trgm is a trusted extension (PostgreSQL 13+) and ships with PGlite as a contrib module.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
