"""Front-ends over the pipeline: the experiment grid (recipes x losses x models, trained and scored), its
recipes and report, and the demo with its HTML report."""
