"""`llamactl batch`: jobs handed to DeepInfra's Batch API, submitted, watched and collected."""
