# OutreachStore.sync is no longer `suspend`: a breaking change (callers and implementers differ).
s/suspend fun `sync`/fun `sync`/
