"""`python -m bot.cli`: the kapbot command."""

from bot.cli import main

main()
