"""The stream processor on Faust: app and topology, agents, scheduler, clocks, observability, and the patches to Faust."""
