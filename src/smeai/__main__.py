"""`python -m smeai`: the same as the `smeai` command."""

from smeai.cli import main

main()
