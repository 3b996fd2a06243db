"""Test doubles used only by the tests (never shipped): the in-memory Tablestore client (``ots``)."""
