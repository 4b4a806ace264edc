"""Test papers: arXiv metadata in the API's format and PDFs the tests build.

The metadata of 2305.17333 (MeZO) and 2304.08485 (LLaVA) follows their arXiv
abstract pages. The PDFs are made here with fpdf2: real PDF files with a text
layer, running headers, page numbers, numbered sections and code links, so
the real pypdf extraction path runs. When ../shared/corpus/ exists, other
tests also run on the real arXiv PDFs there.
"""

from __future__ import annotations

from pathlib import Path

from fakes import FakePaper

SHARED_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"

MEZO = FakePaper(
    id="2305.17333",
    version=3,
    title="Fine-Tuning Language Models with Just Forward Passes",
    abstract=(
        "Fine-tuning language models (LMs) has yielded success on diverse downstream tasks, but as LMs grow in "
        "size, backpropagation requires a prohibitively large amount of memory. Zeroth-order (ZO) methods can in "
        "principle estimate gradients using only two forward passes but are theorized to be catastrophically slow "
        "for optimizing large models. In this work, we propose a memory-efficient zerothorder optimizer (MeZO), "
        "adapting the classical ZO-SGD method to operate in-place, thereby fine-tuning LMs with the same memory "
        "footprint as inference. For example, with a single A100 80GB GPU, MeZO can train a 30-billion parameter "
        "model, whereas fine-tuning with backpropagation can train only a 2.7B LM with the same budget. We conduct "
        "comprehensive experiments across model types (masked and autoregressive LMs), model scales (up to 66B), "
        "and downstream tasks (classification, multiple-choice, and generation). Our results demonstrate that (1) "
        "MeZO significantly outperforms in-context learning and linear probing; (2) MeZO achieves comparable "
        "performance to fine-tuning with backpropagation across multiple tasks, with up to 12x memory reduction "
        "and up to 2x GPU-hour reduction in our implementation; (3) MeZO is compatible with both full-parameter "
        "and parameter-efficient tuning techniques such as LoRA and prefix tuning; (4) MeZO can effectively "
        "optimize non-differentiable objectives (e.g., maximizing accuracy or F1). We support our empirical "
        "findings with theoretical insights, highlighting how adequate pre-training and task prompts enable MeZO "
        "to fine-tune huge models, despite classical ZO analyses suggesting otherwise."
    ),
    authors=["Sadhika Malladi", "Tianyu Gao", "Eshaan Nichani", "Alex Damian", "Jason D. Lee", "Danqi Chen",
             "Sanjeev Arora"],
    published="2023-05-27T00:04:41Z",
    updated="2024-01-11T20:55:50Z",
    primary_category="cs.LG",
    categories=["cs.LG", "cs.CL"],
    comment="Accepted by NeurIPS 2023 (oral). Code available at https://github.com/princeton-nlp/MeZO",
)

LLAVA = FakePaper(
    id="2304.08485",
    version=2,
    title="Visual Instruction Tuning",
    abstract=(
        "Instruction tuning large language models (LLMs) using machine-generated instruction-following data has "
        "improved zero-shot capabilities on new tasks, but the idea is less explored in the multimodal field. In "
        "this paper, we present the first attempt to use language-only GPT-4 to generate multimodal language-image "
        "instruction-following data. By instruction tuning on such generated data, we introduce LLaVA: Large "
        "Language and Vision Assistant, an end-to-end trained large multimodal model that connects a vision encoder "
        "and LLM for general-purpose visual and language understanding. Our early experiments show that LLaVA "
        "demonstrates impressive multimodel chat abilities, sometimes exhibiting the behaviors of multimodal GPT-4 "
        "on unseen images/instructions, and yields a 85.1% relative score compared with GPT-4 on a synthetic "
        "multimodal instruction-following dataset. When fine-tuned on Science QA, the synergy of LLaVA and GPT-4 "
        "achieves a new state-of-the-art accuracy of 92.53%. We make GPT-4 generated visual instruction tuning "
        "data, our model and code base publicly available."
    ),
    authors=["Haotian Liu", "Chunyuan Li", "Qingyang Wu", "Yong Jae Lee"],
    published="2023-04-17T17:59:25Z",
    updated="2023-12-11T17:46:14Z",
    primary_category="cs.CV",
    categories=["cs.CV", "cs.AI", "cs.CL", "cs.LG"],
    comment="NeurIPS 2023 Oral; project page: https://llava-vl.github.io/",
)

OLD_STYLE = FakePaper(
    id="hep-th/9901001",
    version=1,
    title="An Old-Style Identifier Paper",
    abstract="We study an old problem with a new method. We show it works on three examples.",
    authors=["A. Physicist"],
    published="1999-01-01T00:00:00Z",
    updated="1999-01-01T00:00:00Z",
    primary_category="hep-th",
    categories=["hep-th"],
)

_FILLER = (
    "The model is trained on a mixture of tasks and evaluated on held-out benchmarks. We keep the protocol fixed across all model sizes and report every number from the same code base. Hyper-parameters are tuned on a validation split that is disjoint from the test data. We describe the setup in "
    "detail so that the results can be reproduced by other researchers with modest compute. Each experiment is "
    "repeated with five random seeds and we report the mean and the standard deviation across runs. "
)

MEZO_SECTIONS: list[tuple[str, list[str]]] = [
    ("1 Introduction", [
        "Fine-tuning pre-trained language models has become the dominant way to adapt them to downstream tasks. "
        "However, backpropagation through a model with billions of parameters needs up to 12 times the memory of "
        "inference. We propose MeZO, a memory-efficient zeroth-order optimizer that estimates gradients with two "
        "forward passes and updates the parameters in place. " + _FILLER,
        "Our contributions are threefold. First, we show that MeZO fine-tunes a 30-billion parameter model on a "
        "single A100 80GB GPU. Second, we find that MeZO matches fine-tuning with backpropagation on 7 of 11 "
        "tasks. Third, we prove that the convergence rate depends on the local effective rank of the Hessian "
        "rather than on the number of parameters. " + _FILLER,
    ]),
    ("2 Related Work", ["Zeroth-order optimization has a long history in derivative-free settings. " + _FILLER]),
    ("3 Zeroth-Order Optimization", [
        "We use the simultaneous perturbation stochastic approximation estimator, which perturbs all parameters "
        "with one Gaussian vector and compares two losses. MeZO regenerates the perturbation from a random seed "
        "instead of storing it, which keeps the memory footprint equal to inference. " + _FILLER * 2,
        "The update combines the projected gradient with the same random direction, so the optimizer needs no "
        "extra state beyond the seed. " + _FILLER,
    ]),
    ("4 Experiments", [
        "We evaluate on RoBERTa-large and OPT models from 1.3B to 66B parameters. On SST-2, MeZO reaches 90.5% "
        "accuracy compared with 91.9% for full fine-tuning, and it outperforms in-context learning by 7.2 points "
        "on average. MeZO uses up to 12x less memory than fine-tuning with backpropagation. " + _FILLER * 2,
    ]),
    ("5 Conclusion", [
        "We showed that zeroth-order optimization can fine-tune large language models with the memory of "
        "inference. Adequate pre-training and task prompts are crucial for MeZO to work on huge models. "
        "Code is at https://github.com/princeton-nlp/MeZO. " + _FILLER,
    ]),
    ("References", ["[1] J. C. Spall. Multivariate stochastic approximation using a simultaneous perturbation "
                    "gradient approximation. IEEE Transactions on Automatic Control, 1992."]),
    ("A Proofs", ["Proof of Theorem 1. The estimator is unbiased for the smoothed loss. " + _FILLER]),
]

LLAVA_SECTIONS: list[tuple[str, list[str]]] = [
    ("1 Introduction", [
        "Humans interact with the world through many channels such as vision and language. In this paper, we "
        "present visual instruction tuning, the first attempt to extend instruction tuning to the language-image "
        "multimodal space. " + _FILLER,
    ]),
    ("2 GPT-assisted Visual Instruction Data Generation", [
        "We use language-only GPT-4 to generate 158K unique language-image instruction-following samples from "
        "COCO images, using captions and bounding boxes as the symbolic representation of each image. " + _FILLER,
    ]),
    ("3 Visual Instruction Tuning", [
        "LLaVA connects the CLIP ViT-L/14 vision encoder to the Vicuna language model with a simple projection "
        "matrix. We first pre-train the projection for feature alignment and then fine-tune end to end on the "
        "generated instruction data. " + _FILLER,
    ]),
    ("4 Experiments", [
        "LLaVA yields a 85.1% relative score compared with GPT-4 on the synthetic benchmark. When fine-tuned on "
        "ScienceQA, the ensemble of LLaVA and GPT-4 reaches a new state-of-the-art accuracy of 92.53%. " + _FILLER,
    ]),
    ("5 Conclusion", ["This paper demonstrated the effectiveness of visual instruction tuning. " + _FILLER]),
    ("References", ["[1] OpenAI. GPT-4 technical report, 2023."]),
]


def make_pdf(title: str, authors: list[str], abstract: str, sections: list[tuple[str, list[str]]],
             *, running_header: str = "Preprint. Under review.", hyphenate: str = "") -> bytes:
    """A paper-like PDF with a real text layer (fpdf2, core fonts, latin-1 text)."""
    from fpdf import FPDF

    class Paper(FPDF):
        def header(self) -> None:
            if running_header:
                self.set_font("Helvetica", size=8)
                self.cell(0, 6, running_header, align="C", new_x="LMARGIN", new_y="NEXT")

        def footer(self) -> None:
            self.set_y(-15)
            self.set_font("Helvetica", size=8)
            self.cell(0, 10, str(self.page_no()), align="C")

    pdf = Paper()
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()
    pdf.set_font("Helvetica", style="B", size=15)
    pdf.multi_cell(0, 8, title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    pdf.multi_cell(0, 6, ", ".join(authors), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", style="B", size=11)
    pdf.cell(0, 7, "Abstract", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    pdf.multi_cell(0, 5, abstract, new_x="LMARGIN", new_y="NEXT")
    if hyphenate:
        head, tail = hyphenate.split("|")
        pdf.cell(0, 5, head + "-", new_x="LMARGIN", new_y="NEXT")
        pdf.cell(0, 5, tail, new_x="LMARGIN", new_y="NEXT")
    for heading, paragraphs in sections:
        pdf.ln(3)
        pdf.set_font("Helvetica", style="B", size=11)
        pdf.cell(0, 7, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=10)
        for paragraph in paragraphs:
            pdf.multi_cell(0, 5, paragraph, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
    return bytes(pdf.output())


def mezo_pdf() -> bytes:
    return make_pdf(MEZO.title, MEZO.authors, MEZO.abstract, MEZO_SECTIONS,
                    hyphenate="The optimizer keeps a low memory repre|sentation of the perturbation.")


def llava_pdf() -> bytes:
    return make_pdf(LLAVA.title, LLAVA.authors, LLAVA.abstract, LLAVA_SECTIONS)


def image_only_pdf() -> bytes:
    """A PDF with pages but no text layer, like a scan."""
    from fpdf import FPDF

    pdf = FPDF()
    for _ in range(2):
        pdf.add_page()
        pdf.rect(20, 20, 100, 150, style="F")
    return bytes(pdf.output())


def numbered_papers(count: int, prefix: str = "2310.1") -> list[tuple[FakePaper, bytes]]:
    """``count`` small distinct papers with real PDFs, for batch, pipeline and interruption tests."""
    made = []
    for n in range(count):
        paper = FakePaper(id=f"{prefix}{n + 1:04d}", version=1, title=f"Batch Paper Number {n + 1}",
                          abstract=f"We study batch case number {n + 1}. Our method saves everything. It works well.",
                          authors=["A. Tester"])
        pdf = make_pdf(paper.title, paper.authors, paper.abstract,
                       [("1 Introduction", [paper.abstract * 3 + " " + _FILLER]), ("2 Results", ["It works. " + _FILLER * 2])])
        made.append((paper, pdf))
    return made
