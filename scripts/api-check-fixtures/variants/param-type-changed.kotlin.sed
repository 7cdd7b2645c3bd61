# OutreachStore.visits: the type of its `limit` parameter changed, UInt to Int: a breaking change.
s/`limit`: kotlin\.UInt)/`limit`: kotlin.Int)/
