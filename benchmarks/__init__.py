"""`make bench`: performance figures, printed and written to `.bench/results.json`, never asserted."""
