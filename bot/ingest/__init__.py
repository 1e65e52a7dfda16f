"""Pure parsers: text in, plain dataclasses out. No database, no Discord."""
