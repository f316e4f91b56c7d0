"""One module per kind of contender; each turns (source, target) into the command a timed run executes."""
