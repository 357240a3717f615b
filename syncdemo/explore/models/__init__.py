"""Hand-written step models of the scenarios' workers, read only by the explorer."""
