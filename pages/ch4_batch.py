"""Chapter 4, lesson 3: batch size — the same sentences, chunked differently."""

from ui import ch4_charts, lesson

lesson.show(lesson.Lesson(
    "batch_size",
    figures=[(ch4_charts.batch_accuracy, 400), (ch4_charts.batch_time, 400)],
    side_by_side=True,
    conclusion=ch4_charts.batch_conclusion,
    knobs=[lesson.Slider("per_label", "Sentences per label", 1, 50), lesson.Slider("epochs", "Epochs", 1, 12),
           lesson.Choices("batch_sizes", "Batch sizes", (4, 8, 16, 32, 64, 128)),
           lesson.Slider("seeds", "Seeds", 1, 10)],
    widths=[1, 1, 2, 1],
))
