"""The staff console at /staff. `console.create_blueprint` puts it together: sign-in and
sessions, handoffs, bookings, the audit log and accounts on the `staff` blueprint, and the
content editors' pages on a blueprint of their own nested in it, so the sign-in check covers
them too."""
