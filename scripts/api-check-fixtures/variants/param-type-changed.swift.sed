# OutreachStore.visits: the type of its `limit` parameter changed, UInt32 to Int32: a breaking change.
s/limit: UInt32)/limit: Int32)/
