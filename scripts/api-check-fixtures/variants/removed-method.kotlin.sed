# OutreachStore.partnerCount() removed, from the interface and the class: a breaking change.
/api-check-fixture: begin partnerCount/,/api-check-fixture: end partnerCount/d
