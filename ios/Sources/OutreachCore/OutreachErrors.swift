// Readable descriptions of the errors Outreach throws (UniFFI's own would be a debug dump of the
// case: `omit_localized_error_conformance` in bindings/uniffi.toml). Written by hand, beside the
// generated OutreachCore.swift, in the same module.
//
// `errorDescription` is the reason the core gives, for the app to log or show to a coordinator;
// it never holds a note, a key or a token (the core's messages are written so). Field workers'
// screens should rather map the case to their own localised text: `.InvalidInput(field:reason:)`
// names the property at fault as Swift spells it (`peopleReached`), to show the text beside it.

import Foundation

extension OutreachError: LocalizedError {
    public var errorDescription: String? {
        switch self {
        case let .InvalidInput(field, reason):
            return "\(field): \(reason)"
        case let .PersonalData(_, reason),
             let .NotFound(reason),
             let .WrongKey(reason),
             let .Storage(reason),
             let .Network(reason),
             let .Unauthorized(reason),
             let .RevokedAndWiped(reason),
             let .Cancelled(reason),
             let .Internal(reason):
            return reason
        }
    }
}

extension CallbackError: LocalizedError {
    public var errorDescription: String? {
        switch self {
        case let .Failed(reason):
            return reason
        }
    }
}
