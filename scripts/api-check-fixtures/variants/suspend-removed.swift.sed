# OutreachStore.sync is no longer `async`: a breaking change (callers and implementers differ).
/func sync(/s/async throws/throws/
