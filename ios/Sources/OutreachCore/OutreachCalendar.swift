// Calendar days and local times as Outreach keeps them, written by hand beside the generated
// Swift (core/uniffi.toml maps the core's `IsoDate` and `IsoDateTime` to Foundation's `Date`
// through these functions).
//
// A calendar day is a day in Belgium, not in UTC and not in the phone's own time zone: a visit
// logged at 23:30 in Brussels is on that day. So every conversion uses one explicit Gregorian
// calendar in Europe/Brussels: a day crosses the FFI as `YYYY-MM-DD`, the day of the `Date` in
// that calendar; a day received is the `Date` at which it begins there (midnight, Brussels time).
// Local times ("open at") likewise: `YYYY-MM-DDTHH:MM:SS`, Brussels wall-clock time.

import Foundation

/// The calendar of Outreach's days and local times: Gregorian, in Europe/Brussels.
public enum OutreachCalendar {
    /// Belgium's time zone.
    public static let timeZone: TimeZone = TimeZone(identifier: "Europe/Brussels") ?? TimeZone(secondsFromGMT: 3600) ?? .current

    /// The calendar every day and local time is read and written in.
    public static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        calendar.locale = Locale(identifier: "en_US_POSIX")
        return calendar
    }()

    /// Text from the core that is not a day or a local time (a bug: the core writes them).
    public struct MalformedDate: Error, LocalizedError {
        /// The text received.
        public let text: String
        public var errorDescription: String? { "not an ISO-8601 day or local time: \(text)" }
    }

    /// The day of `date` in Brussels, as the core reads it (`YYYY-MM-DD`).
    public static func isoDay(of date: Date) -> String {
        let c = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0)
    }

    /// The `Date` at which a day (`YYYY-MM-DD`) begins in Brussels.
    public static func day(fromIso text: String) throws -> Date {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
        guard parts.count == 3, let year = parts[0], let month = parts[1], let day = parts[2],
              let date = calendar.date(from: DateComponents(year: year, month: month, day: day)),
              isoDay(of: date) == text
        else { throw MalformedDate(text: text) }
        return date
    }

    /// The Brussels wall-clock time of `date`, as the core reads it (`YYYY-MM-DDTHH:MM:SS`).
    public static func isoLocalTime(of date: Date) -> String {
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d",
            c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0, c.minute ?? 0, c.second ?? 0)
    }

    /// The `Date` of a Brussels wall-clock time (`YYYY-MM-DDTHH:MM:SS`, seconds optional).
    public static func localTime(fromIso text: String) throws -> Date {
        let halves = text.split(separator: "T", omittingEmptySubsequences: false)
        guard halves.count == 2 else { throw MalformedDate(text: text) }
        let day = halves[0].split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
        let time = halves[1].split(separator: ":", omittingEmptySubsequences: false).map { Int($0) }
        guard day.count == 3, (2...3).contains(time.count),
              let year = day[0], let month = day[1], let dayOfMonth = day[2],
              let hour = time[0], let minute = time[1]
        else { throw MalformedDate(text: text) }
        let second = time.count == 3 ? time[2] : 0
        guard let second,
              let date = calendar.date(from: DateComponents(
                  year: year, month: month, day: dayOfMonth, hour: hour, minute: minute, second: second))
        else { throw MalformedDate(text: text) }
        return date
    }
}
