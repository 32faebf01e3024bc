"""Chapter 4, lesson 7: fast feedback needs hardware."""

from ui import ch4_charts, lesson

lesson.show(lesson.Lesson(
    "hardware",
    # One above the other, full width: side by side the long bar names squeezed the times off the chart.
    figures=[(ch4_charts.hardware_times, 380), (ch4_charts.hardware_speed, 300)],
    conclusion=ch4_charts.hardware_conclusion,
    knobs=[lesson.Slider("steps", "Timed steps per device", 2, 30),
           lesson.Slider("seeds", "Timings per device", 1, 10)],
))
