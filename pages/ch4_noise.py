"""Chapter 4, lesson 2: garbage in, garbage out — labels flipped on purpose."""

from ui import ch4_charts, lesson

lesson.show(lesson.Lesson(
    "label_noise",
    figures=[(ch4_charts.noise_curve, 420)],
    conclusion=ch4_charts.noise_conclusion,
    knobs=[lesson.Slider("per_label", "Sentences per label", 1, 25), lesson.Slider("epochs", "Epochs", 1, 12),
           lesson.Choices("noise_levels", "Share of labels flipped", (0, 10, 20, 30, 40, 50), scale=100, unit="%"),
           lesson.Slider("seeds", "Seeds", 1, 10)],
    widths=[1, 1, 2, 1],
))
