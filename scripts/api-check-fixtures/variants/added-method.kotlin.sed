# OutreachStore.partnerCountIn(region) added to the interface and the class: compatible.
/api-check-fixture: interface additions here/a\
    fun `partnerCountIn`(`region`: Region): kotlin.ULong
/api-check-fixture: class additions here/a\
    @Throws(OutreachException::class)override fun `partnerCountIn`(`region`: Region): kotlin.ULong {\
            return FfiConverterULong.lift(callWithHandle { 0L })\
    }
