# OutreachStore.partnerCountIn(region:) added to the protocol and the class: compatible.
/api-check-fixture: protocol additions here/a\
    func partnerCountIn(region: Region) throws  -> UInt64
/api-check-fixture: class additions here/a\
open func partnerCountIn(region: Region)throws  -> UInt64  {\
    return try  FfiConverterUInt64.lift(0)\
}
