"""The care team's domain: handoffs (rules, queries, delivery, flood control), screening-call
bookings and the clinic's calendar, contact details, masking, notifications, staff accounts,
the sign-in throttle and the audit log."""
