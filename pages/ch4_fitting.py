"""Chapter 4, lesson 4: over- and underfitting, epoch by epoch."""

from ui import ch4_charts, lesson

lesson.show(lesson.Lesson(
    "fitting",
    figures=[(ch4_charts.fitting_curves, 430)],
    conclusion=ch4_charts.fitting_conclusion,
    knobs=[lesson.Slider("tiny_per_label", "Tiny run: per label", 1, 5),
           lesson.Slider("tiny_epochs", "Tiny run: epochs", 2, 20),
           lesson.Slider("per_label", "Others: per label", 1, 25),
           lesson.Slider("epochs", "Epochs", 1, 15), lesson.Slider("seeds", "Seeds", 1, 10)],
))
