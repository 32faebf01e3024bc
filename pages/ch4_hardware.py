"""Chapter 4, lesson 7: fast feedback needs hardware."""

from ui import ch4_charts, lesson

lesson.show(lesson.Lesson(
    "hardware",
    figures=[(ch4_charts.hardware_speed, 380), (ch4_charts.hardware_times, 380)],
    side_by_side=True,
    conclusion=ch4_charts.hardware_conclusion,
    knobs=[lesson.Slider("steps", "Timed steps per device", 2, 30),
           lesson.Slider("seeds", "Timings per device", 1, 10)],
))
