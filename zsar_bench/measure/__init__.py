"""What is measured and how fairly: metrics, statistics, the fold data a method may see, blinding."""
