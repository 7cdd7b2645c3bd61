# OutreachStore.partnerCount() removed, from the protocol and the class: a breaking change.
/api-check-fixture: begin partnerCount/,/api-check-fixture: end partnerCount/d
