"""Ingestion: raw payloads → the store, with gaps and backfill. Knows nothing of hikari: the
Discord side comes in through the small protocols in :mod:`console.ingest.source`."""
