"""The screens of the talks app: main, review, speakers, settings, log, help, transcript."""
