"""The fixed split of the twelve squad2-dev articles (evals/data/squad2/README.md): the
judge is trained on the first, its thresholds calibrated on the second, and the
generality gate reports the third. Training (``qa``) and the gate (``evals``) read it here,
so they can never disagree about which article is held out."""

TRAIN_ARTICLES = ("Computational_complexity_theory", "European_Union_law", "French_and_Indian_War",
                  "Imperialism", "Islamism", "Steam_engine", "Warsaw")
CALIBRATION_ARTICLES = ("Huguenot", "Yuan_dynasty")
VALIDATION_ARTICLES = ("Immune_system", "Packet_switching", "Scottish_Parliament")
