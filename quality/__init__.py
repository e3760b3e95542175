"""Annotation quality: do annotators agree (``quality.agreement``, ``quality.agreement_summary``), and which labels
are probably wrong (``quality.audit``: out-of-sample probabilities by k folds, ``quality.folds``, ranked by
cleanlab, ``quality.label_issues``)."""
