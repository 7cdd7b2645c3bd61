# LogLevel.INFO added: compatible for callers, but an exhaustive `when` no longer compiles (a note).
s/^    WARN;$/    WARN, INFO;/
