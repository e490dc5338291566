"""`make bench`: each module measures one stage; results are printed and recorded in docs/benchmarks.md."""
