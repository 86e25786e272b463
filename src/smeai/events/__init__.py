"""Events and training the centre runs: courses, seminars, matchmaking days with one-to-one meetings,
site visits; registration, waiting lists, check-in, feedback (issue 20)."""
