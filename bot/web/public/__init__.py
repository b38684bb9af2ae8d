"""What visitors reach without signing in: the website widget and its demo page, the plain chat
page, and the calendar file of a booked screening call."""
