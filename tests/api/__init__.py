"""Tests of the API client layer: credentials, pacing, paging, the client, its CLI."""
