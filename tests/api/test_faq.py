from clinic.outreach.models import FaqEntry


def test_anyone_reads_the_published_faq_in_order(db, anon):
    FaqEntry.objects.create(question="Second?", answer="B", position=2)
    FaqEntry.objects.create(question="First?", answer="A", position=1)
    FaqEntry.objects.create(question="Hidden?", answer="C", published=False)
    assert [e["question"] for e in anon.get("/api/faq/").json()] == ["First?", "Second?"]
