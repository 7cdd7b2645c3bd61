# LogLevel.info added: compatible for callers, but an exhaustive `switch` no longer compiles (a note).
/^    case warn$/a\
    case info
